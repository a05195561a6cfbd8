// Package config turns one YAML file and RADIUSMFA_* environment variables
// into a typed, validated [Config]. It is the only package that knows viper;
// cmd/radiusmfa hands every other part its own section.
//
// [Load] applies, in order of precedence:
//
//  1. environment variables: every key has one, RADIUSMFA_ followed by its
//     path in upper case with dots as underscores (radius.request_timeout is
//     RADIUSMFA_RADIUS_REQUEST_TIMEOUT). Lists of strings take a
//     comma-separated value; RADIUSMFA_RADIUS_CLIENTS takes a YAML or JSON
//     list that replaces the file's clients. A variable listed twice takes
//     its last value, as [LookupEnv] reads it;
//  2. the YAML file;
//  3. [Default], then the defaults derived from other keys (file names
//     inside data_dir, the hashing concurrency from the CPU count).
//
// Mistakes are errors, never silent defaults: an unknown key (at any depth,
// including inside a client), an unknown RADIUSMFA_* variable, a value of the
// wrong type and every failed check of [Config.Validate] are reported
// together, each naming its key, e.g.
//
//	radius.clients[0].secrt: unknown key (did you mean "secret"?)
//	radius.max_in_flight: expected an integer, got "lots"
//
// Settings that are valid but weak (short client secrets, a client exempt from
// Message-Authenticator, low Argon2 memory) come back from Load as warnings
// for the caller to log.
//
// RADIUSMFA_CONFIG (see [ResolveConfigPath]) and RADIUSMFA_MASTER_KEY are
// read elsewhere and ignored by Load. docs/configuration.md is the reference
// for operators; examples/radiusmfa.yaml documents every key.
package config
