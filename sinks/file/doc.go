// Package file keeps variables in a local ECS env file (file:PATH).
package file
