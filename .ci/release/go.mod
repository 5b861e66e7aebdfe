module github.com/envsync/envsync/.ci/release

go 1.26.8
