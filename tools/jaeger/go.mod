// The Jaeger that `make run` starts (tracing's local backend): built from its Go module into .tools/, like
// kustomize and Mailpit. `go get -tool github.com/jaegertracing/jaeger/cmd/jaeger@<version>` changes it.
module recurring-orders/tools/jaeger

go 1.24
