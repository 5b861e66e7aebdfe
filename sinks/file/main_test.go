package file

import (
	"testing"

	"github.com/envsync/envsync/sinks/sinktest"
)

func TestMain(m *testing.M) { sinktest.Main(m) }
