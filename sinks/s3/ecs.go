package s3

import (
	"context"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/awscfg"
)

// ECSEnvFile says how an ECS task definition loads this env file: the
// object's ARN for environmentFiles, the bucket's for s3:GetBucketLocation
// (the ECS developer guide's "Amazon ECS task execution IAM role" lists both
// for environment files), and the KMS key when the object is written with
// SSE-KMS. It makes no call: the partition comes from the configured region.
func (s *Store) ECSEnvFile(ctx context.Context) (*envsync.EnvFileRef, error) {
	cfg, err := awscfg.Load(ctx, s.opts)
	if err != nil {
		return nil, err
	}
	p := awscfg.Partition(cfg.Region)
	return &envsync.EnvFileRef{
		Location:  "s3://" + s.bucket + "/" + s.key,
		ObjectARN: "arn:" + p + ":s3:::" + s.bucket + "/" + s.key,
		BucketARN: "arn:" + p + ":s3:::" + s.bucket,
		KMSKey:    awscfg.KMSKeyARN(s.kmsKey, p, cfg.Region, "*"),
		Partition: p, Region: cfg.Region,
	}, nil
}

var _ envsync.EnvFileLocator = (*Store)(nil)
