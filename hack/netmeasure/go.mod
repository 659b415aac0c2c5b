module github.com/ctr-unit/ctr-unit/hack/netmeasure

go 1.26.8

replace github.com/ctr-unit/ctr-unit => ../..

require (
	github.com/containernetworking/cni v1.3.1
	github.com/ctr-unit/ctr-unit v0.0.0-00010101000000-000000000000
	golang.org/x/sys v0.50.0
)

require (
	github.com/google/renameio/v2 v2.0.2 // indirect
	go.opentelemetry.io/otel v1.29.0 // indirect
	go.opentelemetry.io/otel/trace v1.29.0 // indirect
)
