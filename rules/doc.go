// Package rules defines envsync's rule file: how a variable's name (and
// optionally its value) decides its class. The built-in rules are written in
// the same format (builtin.yaml, embedded) and apply after a user's rules.
//
// A rule file is YAML:
//
//	rules:                        # ordered: the first rule that matches wins
//	  - name: slack-channels      # an id, shown in reasons as rule:slack-channels
//	    match: "SLACK_*_CHANNEL"  # a glob on the whole name (* and ?), case-insensitive,
//	                              # or a regex between slashes: "/^SLACK_.*_CHANNEL$/"
//	    words: [CHANNEL]          # the name contains one of these words; "API KEY"
//	                              # means the two words in a row
//	    word_ends: [PASSWORD]     # a word of the name ends with one of these (PGPASSWORD)
//	    first: [ENABLE]           # the name's first word is one of these
//	    last: [CHANNEL]           # the name's last word is one of these
//	    value: "^#"               # a regex the value must match (never shown)
//	    not_words: [TEST]         # evidence against: the rule does not apply when the
//	    not_value: "^[0-9]+$"     # name has one of these words, or the value matches
//	    class: feature            # feature, static, dynamic, secret or ignore
//	    reason: notification targets are changed at run time
//	    confidence: weak          # optional: a fallback, listed for review (default strong)
//	overrides:                    # exact name → class
//	  LEGACY_CHECKOUT: feature
//	allow:                        # exact name → why its credential-looking value is public
//	  SENTRY_DSN_BROWSER: the browser DSN is published in the JS bundle
//
// A rule needs at least one of match, words, word_ends, first, last or value; all the
// ones it has must hold, and neither not_words nor not_value may.
//
// A user rule or an override never moves a variable whose name the built-in
// rules identify as a secret (DB_PASSWORD, STRIPE_SECRET_KEY) to another
// class: list the name under allow: with the reason its value is public. Names are split into words at "_", "-", "." and
// camelCase boundaries and upper-cased before matching, so "stripeSecretKey"
// has the words STRIPE, SECRET, KEY.
//
// Decoding is strict: unknown fields, bad globs or regexes and unknown
// classes are errors that name the file and line.
package rules
