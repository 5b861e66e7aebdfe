package awscfg

import "testing"

func TestPartitionAndKMSKeyARN(t *testing.T) {
	for region, want := range map[string]string{"us-east-1": "aws", "eu-west-3": "aws", "cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov", "us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b"} {
		if got := Partition(region); got != want {
			t.Errorf("Partition(%q) = %q; want %q", region, got, want)
		}
	}
	for key, want := range map[string]string{
		"":                                     "",
		"arn:aws:kms:us-east-1:1:key/abc":      "arn:aws:kms:us-east-1:1:key/abc",
		"1234abcd-12ab-34cd-56ef-1234567890ab": "arn:aws:kms:us-east-1:42:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"mrk-1234abcd12ab34cd56ef1234567890ab": "arn:aws:kms:us-east-1:42:key/mrk-1234abcd12ab34cd56ef1234567890ab",
		"alias/acme":                           "alias/acme",
	} {
		if got := KMSKeyARN(key, "aws", "us-east-1", "42"); got != want {
			t.Errorf("KMSKeyARN(%q) = %q; want %q", key, got, want)
		}
	}
}
