module envsync-ci/release

go 1.26.8
