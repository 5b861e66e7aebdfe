package envsync

import "sync"

// FileCache remembers, for one run, what a key (a local file's path) parsed
// to, so that routes sharing a file parse it once. It is safe for
// concurrent use: callers asking for the same key at once wait for one parse.
type FileCache struct {
	mu      sync.Mutex
	entries map[string]*cacheEntry
}

type cacheEntry struct {
	once sync.Once
	val  any
	err  error
}

// NewFileCache returns an empty cache.
func NewFileCache() *FileCache { return &FileCache{entries: map[string]*cacheEntry{}} }

// Load returns what load returned the first time key was asked for.
func (c *FileCache) Load(key string, load func() (any, error)) (any, error) {
	c.mu.Lock()
	e := c.entries[key]
	if e == nil {
		e = &cacheEntry{}
		c.entries[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.val, e.err = load() })
	return e.val, e.err
}

// Forget drops key, after the file was written.
func (c *FileCache) Forget(key string) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}
