package bolt

// Sync flushes the file to disk; it matters only with Options.NoSync.
func (d *DB) Sync() error { return d.bolt.Sync() }
