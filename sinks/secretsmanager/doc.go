// Package secretsmanager keeps variables in AWS Secrets Manager (secretsmanager://NAME).
package secretsmanager
