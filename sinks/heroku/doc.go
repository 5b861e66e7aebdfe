// Package heroku reads and writes a Heroku app's config vars (heroku://APP).
package heroku
