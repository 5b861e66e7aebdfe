// Package tfvars keeps variables in one map variable of a Terraform .tfvars file (tfvars:PATH#VARIABLE).
package tfvars
