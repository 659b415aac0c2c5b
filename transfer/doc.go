// Package transfer moves images between ctr-unit's image store and
// registries, archives and directories with containers/image
// (go.podman.io/image/v5): pull, push, load, save, import, login and
// logout, reading the host's configuration as podman reads it
// (registries.conf, policy.json, containers-auth.json).
//
// Its code builds only with the tags in buildtags/tags (make uses them):
// containers/image verifies signatures with gpgme, which needs cgo, unless
// built with containers_image_openpgp. Without the tags this package is
// empty, so that plain `go vet ./...` and `go test ./...` still work on
// the rest.
//
// Only ctr-unit-image links this package: containers/image's package
// initializers would otherwise slow down every ctr-unit command, and so
// every container start.
package transfer
