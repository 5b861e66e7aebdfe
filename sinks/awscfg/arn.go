package awscfg

import (
	"regexp"
	"strings"
)

// Partition is the ARN partition of a region: aws-cn for cn-*, aws-us-gov
// for us-gov-*, aws-iso* for the isolated regions, else aws.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	}
	return "aws"
}

var keyID = regexp.MustCompile(`^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)

// KMSKeyARN turns a KMS key as a user wrote it into the ARN an IAM policy
// names: an ARN is kept, a key id becomes arn:PARTITION:kms:REGION:ACCOUNT:key/ID
// (account may be "*": key ids are unique), and anything else (an alias) is
// returned unchanged, for the caller to flag.
func KMSKeyARN(key, partition, region, account string) string {
	switch {
	case key == "" || strings.HasPrefix(key, "arn:"):
		return key
	case keyID.MatchString(key):
		return "arn:" + partition + ":kms:" + region + ":" + account + ":key/" + key
	}
	return key
}
