// Package network gives containers private networks: network definitions
// kept as files, IP allocation, a network namespace per container pinned
// under the runtime directory, and its setup and teardown through
// netavark; plus the pure parsers of the network options and the
// generators of a container's /etc/resolv.conf, /etc/hosts and
// /etc/hostname.
//
// It imports nothing heavy: the unit's lean stop step links it for
// teardown.
package network
