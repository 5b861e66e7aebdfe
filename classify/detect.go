package classify

import (
	"encoding/base64"
	"math"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A detector recognises a credential by its value alone.
type detector struct {
	id, reason string
	re         *regexp.Regexp
}

// Known token formats. Sources: the vendors' documented prefixes (AWS access
// key ids AKIA/ASIA, Slack xox?-, Stripe sk_/rk_/whsec_, GitHub ghp_/gho_/
// ghu_/ghs_/ghr_/github_pat_, Google AIza, SendGrid SG., Twilio SK…).
var detectors = []detector{
	{"pem-private-key", "value is a PEM private key", regexp.MustCompile(`-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----`)},
	{"aws-access-key-id", "value is an AWS access key id", regexp.MustCompile(`^(AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}$`)},
	{"slack-token", "value is a Slack token", regexp.MustCompile(`^xox[abposre]-[A-Za-z0-9-]{10,}$`)},
	{"slack-webhook", "value is a Slack webhook URL (it embeds a token)", regexp.MustCompile(`^https://hooks\.slack\.com/(services|workflows|triggers)/`)},
	{"discord-webhook", "value is a Discord webhook URL (it embeds a token)", regexp.MustCompile(`^https://(discord|discordapp)\.com/api/webhooks/`)},
	{"stripe-secret-key", "value is a Stripe secret or restricted key", regexp.MustCompile(`^(sk|rk)_(live|test)_[A-Za-z0-9]{10,}$`)},
	{"stripe-webhook-secret", "value is a Stripe webhook signing secret", regexp.MustCompile(`^whsec_[A-Za-z0-9]{20,}$`)},
	{"github-token", "value is a GitHub token", regexp.MustCompile(`^(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})$`)},
	{"gitlab-token", "value is a GitLab token", regexp.MustCompile(`^glpat-[A-Za-z0-9_-]{20,}$`)},
	{"google-api-key", "value is a Google API key", regexp.MustCompile(`^AIza[0-9A-Za-z_-]{35}$`)},
	{"google-oauth-secret", "value is a Google OAuth client secret", regexp.MustCompile(`^GOCSPX-[A-Za-z0-9_-]{20,}$`)},
	{"sendgrid-key", "value is a SendGrid API key", regexp.MustCompile(`^SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{20,}$`)},
	{"twilio-key", "value is a Twilio API key", regexp.MustCompile(`^SK[0-9a-fA-F]{32}$`)},
	{"openai-key", "value is an OpenAI or Anthropic API key", regexp.MustCompile(`^sk-(proj-|ant-)?[A-Za-z0-9_-]{20,}$`)},
	{"npm-token", "value is an npm token", regexp.MustCompile(`^npm_[A-Za-z0-9]{30,}$`)},
	{"jwt", "value is a JSON Web Token", regexp.MustCompile(`^eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$`)},
}

// Query parameters whose value is a credential.
var secretQuery = regexp.MustCompile(`(?i)^(.*[_-])?(token|key|secret|password|passwd|pwd|signature|sig|auth|credential|credentials|apikey|api_key|access_token|x-amz-signature|x-amz-credential)$`)

// DetectValue reports whether value looks like a credential whatever its
// name: a known token format, a PEM private key, a URL with a password or
// with a token in its query, or a long high-entropy string. The reason never
// contains the value.
func DetectValue(value string) (id, reason string, ok bool) {
	v := strings.TrimSpace(value)
	// No token format is shorter than 15 characters (xoxb- and ten); only
	// a URL or an Authorization header (Basic of u:p) can carry a shorter
	// credential.
	if len(v) < 15 && !strings.Contains(v, "://") || publishable.MatchString(v) {
		return authHeader(v)
	}
	for _, d := range detectors {
		if d.re.MatchString(v) {
			return d.id, d.reason, true
		}
	}
	if pemB64(v, "PRIVATE KEY") {
		return "pem-private-key", "value is a base64-encoded PEM private key", true
	}
	if id, reason, ok := detectURL(v); ok {
		return id, reason, true
	}
	if looksRandom(v) {
		return "high-entropy", "value is a long random-looking string (a key or token)", true
	}
	// A token inside a larger value: JSON, a header, a command line.
	if !strings.ContainsAny(v, " \t\n\r\v\f\"'`,;{}()[]<>=:") {
		return "", "", false
	}
	for _, part := range tokenSplit.Split(v, -1) {
		if len(part) < 16 || part == v {
			continue
		}
		for _, d := range detectors {
			if d.re.MatchString(part) {
				return d.id, d.reason + " (inside the value)", true
			}
		}
		// The same test as for a whole value: a 24-character key is a key
		// on its own and inside JSON or a header alike.
		if looksRandom(part) {
			return "high-entropy", "value contains a long random-looking string (a key or token)", true
		}
	}
	return authHeader(v)
}

func authHeader(v string) (id, reason string, ok bool) {
	if authHeaderCredential(v) {
		return "auth-header", "value is an HTTP Authorization credential (Bearer, Basic or Token scheme)", true
	}
	return "", "", false
}

// authScheme finds an HTTP Authorization scheme and its credential (RFC 9110
// §11.4; the credential is RFC 6750's b64token), alone ("Bearer …"), after
// "Authorization:", or inside a larger value (JSON, a header list).
var authScheme = regexp.MustCompile(`(?i)(?:^|[^A-Za-z0-9_-])(bearer|basic|token)\s+([A-Za-z0-9._~+/-]+=*)(?:$|[\s"'` + "`" + `,;)}\]])`)

// authHeaderCredential reports whether v carries an Authorization scheme
// whose credential is plausibly one: Basic's base64 of user:password, or a
// token of 8 or more characters that has a digit or mixes cases. A
// placeholder is not: "Bearer" alone, <token>, ${TOKEN}, {{token}}, %s,
// YOUR_TOKEN, your-token-here, YourTokenHere, xxxxxxxx.
func authHeaderCredential(v string) bool {
	if !strings.ContainsAny(v, " \t") {
		return false
	}
	for _, m := range authScheme.FindAllStringSubmatch(v, -1) {
		scheme, cred := strings.ToLower(m[1]), m[2]
		if scheme == "basic" && basicCredential(cred) {
			return true
		}
		if len(cred) >= 8 && strings.ContainsAny(cred, "0123456789") ||
			len(cred) >= 8 && strings.ToLower(cred) != cred && strings.ToUpper(cred) != cred && !camelWords.MatchString(cred) {
			return true
		}
	}
	return false
}

// camelWords: words written in CamelCase (YourTokenHere), a placeholder.
var camelWords = regexp.MustCompile(`^([A-Z][a-z]+)+$`)

// basicCredential reports whether cred is base64 of user:password (RFC 7617)
// with something on either side.
func basicCredential(cred string) bool {
	b, err := base64.StdEncoding.DecodeString(cred)
	if err != nil || !utf8.Valid(b) {
		return false
	}
	user, pass, ok := strings.Cut(string(b), ":")
	if !ok || user == "" && pass == "" {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// tokenSplit cuts a value into the pieces a token could be.
var tokenSplit = regexp.MustCompile(`[\s"'` + "`" + `,;{}()\[\]<>=]+|:\s`)

func detectURL(v string) (id, reason string, ok bool) {
	if !strings.Contains(v, "://") {
		return "", "", false
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		// A URL the parser refuses may still carry credentials: user:pass@host.
		if rawUserPass.MatchString(v) {
			return "url-password", "value is a URL with a password", true
		}
		return "", "", false
	}
	if u.User != nil {
		if p, set := u.User.Password(); set && p != "" {
			return "url-password", "value is a URL with a password", true
		}
		// A user part that is itself a key (Sentry DSNs, https://KEY@host).
		if name := u.User.Username(); len(name) >= 16 && looksRandom(name) || hexOrKey.MatchString(name) {
			return "url-key", "value is a URL whose user part is a key (like a DSN)", true
		}
	}
	for k, vals := range u.Query() {
		if secretQuery.MatchString(k) && len(vals) > 0 && len(vals[0]) >= 6 {
			return "url-query-secret", "value is a URL with a credential in its query (" + k + ")", true
		}
	}
	// A long random path segment is a capability URL (webhook and ping
	// URLs, signed links), unless it is a public account id in a known
	// format (OpenStack Swift's AUTH_<project id>).
	for _, seg := range strings.Split(u.Path, "/") {
		if len(seg) >= 24 && !publicPathSegment.MatchString(seg) && looksRandom(seg) {
			return "url-token-path", "value is a URL with a token in its path", true
		}
	}
	return "", "", false
}

// Public identifiers in vendor formats: values that look random but are
// public by design (they are sent to browsers or printed in dashboards).
var publicFormats = []detector{
	{"stripe-publishable-key", "value is a Stripe-style publishable key (pk_), public by design", regexp.MustCompile(`^pk_(live|test)_[A-Za-z0-9]+$`)},
	{"stripe-object-id", "value is a Stripe object id (price, product, plan, coupon, Connect client or account), public by design", regexp.MustCompile(`^(price|prod|plan|ca|acct|coupon|promo)_[A-Za-z0-9]{8,}$`)},
	{"google-oauth-client-id", "value is a Google OAuth client id, public by design", regexp.MustCompile(`^[0-9]+-[a-z0-9]+\.apps\.googleusercontent\.com$`)},
	{"github-client-id", "value is a GitHub OAuth or App client id, public by design", regexp.MustCompile(`^(Iv1\.[0-9a-f]{16}|Iv23li[A-Za-z0-9]{14}|Ov23li[A-Za-z0-9]{14})$`)},
	{"recaptcha-site-key", "value is a reCAPTCHA site key, public by design", regexp.MustCompile(`^6L[A-Za-z0-9_-]{38}$`)},
	{"okta-client-id", "value is an Okta client id, public by design", regexp.MustCompile(`^0oa[A-Za-z0-9]{17}$`)},
	{"twilio-messaging-service-sid", "value is a Twilio messaging-service or phone-number SID, public by design", regexp.MustCompile(`^(MG|PN)[0-9a-f]{32}$`)},
	{"analytics-id", "value is a web-analytics id (Google Analytics, Tag Manager), public by design", regexp.MustCompile(`^(UA-[0-9]+-[0-9]+|G-[A-Z0-9]{6,12}|GTM-[A-Z0-9]{4,10}|AW-[0-9]{6,12})$`)},
	{"posthog-project-key", "value is a PostHog project key (phc_), public by design", regexp.MustCompile(`^phc_[A-Za-z0-9]{20,}$`)},
	{"mapbox-public-token", "value is a Mapbox public token (pk.), public by design", regexp.MustCompile(`^pk\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)},
	{"square-application-id", "value is a Square application id, public by design", regexp.MustCompile(`^sq0idp-[A-Za-z0-9_-]{10,}$`)},
	{"pem-certificate", "value is a certificate or public key (PEM), public by design", regexp.MustCompile(`^-----BEGIN (CERTIFICATE|PUBLIC KEY|RSA PUBLIC KEY|X509 CRL|TRUSTED CERTIFICATE)-----`)},
}

// PublicValue reports whether value is a public identifier in a vendor's
// documented format, or a certificate (also base64-encoded, or its bare DER
// base64 body). The reason never contains the value.
func PublicValue(value string) (id, reason string, ok bool) {
	v := strings.TrimSpace(value)
	if len(v) < 8 { // the shortest format: G-XXXXXX
		return "", "", false
	}
	for _, d := range publicFormats {
		if d.re.MatchString(v) {
			return d.id, d.reason, true
		}
	}
	if pemB64(v, "CERTIFICATE") || derCert.MatchString(v) {
		return "pem-certificate", "value is a certificate, public by design", true
	}
	return "", "", false
}

// derCert is the base64 of a DER X.509 certificate (a SEQUENCE of a
// SEQUENCE with a version tag): the PEM body without its armour.
var derCert = regexp.MustCompile(`^MII[A-Za-z0-9+/]{3}CC[A-Za-z0-9+/]{3}gAwIBAgI[A-Za-z0-9+/=\s]+$`)

// pemB64 reports whether v is base64 of a PEM block whose type contains kind.
func pemB64(v, kind string) bool {
	if !strings.HasPrefix(v, "LS0tLS1CRUdJT") || len(v) > 1<<20 {
		return false
	}
	head := v
	if len(head) > 96 {
		head = head[:96]
	}
	head = head[:len(head)/4*4]
	b, err := base64.StdEncoding.DecodeString(head)
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strings.HasPrefix(first, "-----BEGIN ") && strings.Contains(first, kind)
}

// publicPathSegment: account ids that object-store URLs carry in their path.
var publicPathSegment = regexp.MustCompile(`^AUTH_[0-9a-f]{32}$`)

var (
	// Keys meant for browsers: Stripe publishable keys.
	publishable = regexp.MustCompile(`^pk_(live|test)_[A-Za-z0-9]+$`)
	rawUserPass = regexp.MustCompile(`^[a-z][a-z0-9+.-]*://[^/@\s:]*:[^/@\s]+@`)
	hexOrKey    = regexp.MustCompile(`^[0-9a-f]{32,}$`)
	uuidLike    = regexp.MustCompile(`^(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	hexOnly     = regexp.MustCompile(`^(?i)[0-9a-f]+$`)
	dotted      = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`) // hosts, versions, dotted ids
)

// looksRandom reports whether s is a long string of token characters whose
// randomness says "generated key": hex of 32+ digits, or 20+ mixed
// characters with high Shannon entropy. UUIDs, host names, dotted names,
// words and numbers are not.
func looksRandom(s string) bool {
	if len(s) < 20 || !isTokenLike(s) || len(s) == 36 && uuidLike.MatchString(s) ||
		strings.Contains(s, ".") && dotted.MatchString(s) || isAlphabet(s) || isWordPath(s) {
		return false
	}
	if hexOnly.MatchString(s) {
		return len(s) >= 32 && hasDigitAndLetter(s)
	}
	var lower, upper, digit int
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			lower++
		case r >= 'A' && r <= 'Z':
			upper++
		case r >= '0' && r <= '9':
			digit++
		}
	}
	classes := 0
	for _, n := range []int{lower, upper, digit} {
		if n > 0 {
			classes++
		}
	}
	if classes < 2 || digit == 0 && classes < 3 {
		return false
	}
	// Words joined by separators (some_long_identifier_name) are not keys.
	if strings.Count(s, "_")+strings.Count(s, "-")+strings.Count(s, ".") >= 3 && entropy(s) < 4.2 {
		return false
	}
	return entropy(s) >= 3.7
}

// isTokenLike reports whether s has only the characters of tokens:
// letters, digits and + / = _ . ~ -.
func isTokenLike(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("+/=_.~-", c) >= 0) {
			return false
		}
	}
	return s != ""
}

func hasDigitAndLetter(s string) bool {
	return strings.ContainsAny(s, "0123456789") && strings.ContainsAny(strings.ToLower(s), "abcdef")
}

// entropy is the Shannon entropy of s in bits per character.
func entropy(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h, n := 0.0, float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// isAlphabet reports whether s is a character set written out in order
// (abcdefghkm…XYZ23456789: an id alphabet), not a random string: most
// neighbouring characters are one or two code points apart, ascending.
func isAlphabet(s string) bool {
	steps := 0
	for i := 1; i < len(s); i++ {
		if d := int(s[i]) - int(s[i-1]); d == 1 || d == 2 {
			steps++
		}
	}
	return steps*4 >= (len(s)-1)*3
}

// isWordPath reports whether s is a file or resource path made of words
// (/opt/app/cert.p12, projects/p/locations/l/keyRings/r): two or more
// slashes and no segment that is itself random-looking.
func isWordPath(s string) bool {
	if strings.Count(s, "/") < 2 || strings.Contains(s, "//") {
		return false
	}
	for _, seg := range strings.Split(s, "/") {
		if len(seg) >= 40 || !wordish.MatchString(seg) {
			return false
		}
	}
	return true
}

// wordish: empty, or a segment whose letters come in runs of two or more
// lower-case letters (words, camelCase, kebab-case, file names, numbers).
var wordish = regexp.MustCompile(`^([A-Z]?[a-z]{2,}|[0-9]+|[._-])*([.][A-Za-z0-9]{1,5})?$`)
