package tfvars

import "github.com/envsync/envsync"

// TerraformVariable is the map variable this store keeps, for `envsync ecs
// render --format hcl`, which turns it into the container's environment.
func (s *Store) TerraformVariable() string { return s.variable }

var _ envsync.TerraformVariabler = (*Store)(nil)
