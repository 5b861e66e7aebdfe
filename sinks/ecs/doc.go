// Package ecs reads and restarts ECS services (ecs://CLUSTER/SERVICE).
package ecs
