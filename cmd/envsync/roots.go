package main

// The container image is built on an empty (scratch) base with no CA
// bundle: the Mozilla roots compiled in here are used only when the system
// has none, so TLS to AWS and Heroku works there too. A system bundle
// (/etc/ssl/certs, SSL_CERT_FILE) always wins.
import _ "golang.org/x/crypto/x509roots/fallback"
