package main

import (
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/spf13/cobra"
	_ "golang.org/x/net/http2"
	_ "golang.org/x/sync/errgroup"
	_ "k8s.io/api/extensions/v1beta1"
	_ "k8s.io/api/networking/v1beta1"
	_ "sigs.k8s.io/yaml"
)

func main() {}
