// Package all registers every store with envsync. Import it for its side effect.
package all
