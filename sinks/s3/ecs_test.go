package s3

import (
	"testing"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/sinktest"
)

func TestECSEnvFile(t *testing.T) {
	sinktest.AWS(t)
	for _, tc := range []struct {
		region, url string
		want        envsync.EnvFileRef
	}{
		{"us-east-1", "s3://acme-env/prod/feature.env", envsync.EnvFileRef{Location: "s3://acme-env/prod/feature.env",
			ObjectARN: "arn:aws:s3:::acme-env/prod/feature.env", BucketARN: "arn:aws:s3:::acme-env", Partition: "aws", Region: "us-east-1"}},
		{"cn-north-1", "s3://acme-env/prod/feature.env?sse=aws:kms&kms=1234abcd-12ab-34cd-56ef-1234567890ab", envsync.EnvFileRef{Location: "s3://acme-env/prod/feature.env",
			ObjectARN: "arn:aws-cn:s3:::acme-env/prod/feature.env", BucketARN: "arn:aws-cn:s3:::acme-env",
			KMSKey: "arn:aws-cn:kms:cn-north-1:*:key/1234abcd-12ab-34cd-56ef-1234567890ab", Partition: "aws-cn", Region: "cn-north-1"}},
	} {
		t.Setenv("AWS_REGION", tc.region)
		// A new HTTP client, so the configuration is loaded for this region.
		st, err := envsync.Open(t.Context(), tc.url, envsync.OpenOptions{HTTPClient: (&envsync.CallCounter{}).Client()})
		if err != nil {
			t.Fatal(err)
		}
		ref, err := st.(envsync.EnvFileLocator).ECSEnvFile(t.Context())
		if err != nil || *ref != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.url, ref, err, tc.want)
		}
	}
}
