// Package push is the core of push approval: the user's phone (the approver
// app, a web app holding a non-extractable P-256 key) is asked to approve or
// deny each login, and signs its answer.
//
// It holds these pieces, none of which sends anything over the network
// (delivery over Web Push lives in push/webpush, over ntfy in push/ntfy):
//
//   - the device record (enrollment kind "push"): the app's public key and
//     its Web Push subscription, or for the ntfy app (Channel ChannelNtfy)
//     its secret topic and the site its links point at, kept as a
//     versioned JSON document in the enrollment's Secret (EncodeSecret,
//     DecodeSecret, NewEnrollment, NewNtfyEnrollment);
//   - approval links, for devices that cannot sign: one-time tokens MAC'd
//     with a server key (LinkKey) that answer one push each (BeginLinked,
//     AnswerLink);
//   - the signed answer: the exact message the app signs (Message) and the
//     check of its WebCrypto (IEEE P1363) ECDSA signature (Verify);
//   - the Hub of pending pushes: a login Begins a push and Waits for its
//     verdict; the app's signed Answer wakes the waiter at once. The Hub
//     bounds pending pushes and applies the push-fatigue defences: a per-user
//     rate, suspension after a run of denied or unanswered pushes, and at
//     once on "deny and report".
//
// The Hub keeps its state in memory only: a restart forgets pending pushes,
// rate windows and suspensions. The server learns of each settled push, and
// of each suspension, through Options.OnEvent, to audit it and alert admins.
package push
