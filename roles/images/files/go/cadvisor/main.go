// Command cadvisor is cAdvisor for Compose hosts, Prometheus only: upstream's cmd/cadvisor.go
// (github.com/google/cadvisor/cmd is not on the Go module proxy) cut down to the in-memory
// manager with the docker and raw container plugins, serving /metrics and /healthz.
// Docker labels stay on the metrics as container_label_<name> (cAdvisor's default labels).
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/google/cadvisor/cache/memory"
	"github.com/google/cadvisor/container"
	_ "github.com/google/cadvisor/container/docker/install" // the docker plugin; raw is registered by Manager.Start
	v2 "github.com/google/cadvisor/info/v2"
	"github.com/google/cadvisor/manager"
	"github.com/google/cadvisor/metrics"
	"github.com/google/cadvisor/utils/sysfs"
	"github.com/google/cadvisor/version"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

func main() {
	listen := flag.String("listen_address", ":8080", "address to serve /metrics and /healthz on")
	storageDuration := flag.Duration("storage_duration", 2*time.Minute, "how long stats are kept in memory")
	rawPrefixes := flag.String("raw_cgroup_prefix_whitelist", "", "comma-separated cgroup path prefixes collected even with -docker_only")
	showVersion := flag.Bool("version", false, "print the version and exit")
	included := container.MetricSet{
		container.CpuUsageMetrics:     struct{}{},
		container.MemoryUsageMetrics:  struct{}{},
		container.NetworkUsageMetrics: struct{}{},
		container.DiskIOMetrics:       struct{}{},
	}
	flag.Var(&included, "enable_metrics", "comma-separated `metrics` to collect, of "+container.AllMetrics.String())
	// The library's own flags (-docker, -housekeeping_interval, -docker_only, ...) are on the
	// command line too; two get defaults suited to a Compose host.
	setDefault("housekeeping_interval", "10s")
	setDefault("docker_only", "true")
	klog.InitFlags(nil)
	flag.Parse()
	if *showVersion {
		fmt.Printf("cadvisor %s (github.com/google/cadvisor library)\n", version.Info["version"])
		return
	}
	klog.Infof("metrics: %s", included.String())

	cache := memory.New(*storageDuration, nil)
	m, err := manager.New(cache, sysfs.NewRealSysFs(), manager.HousekeepingConfigFlags, included,
		http.DefaultClient, strings.Split(*rawPrefixes, ","), []string{""}, "", 0) // upstream passes [""], never nil
	if err != nil {
		klog.Fatalf("creating the manager: %v", err)
	}
	if err := m.Start(); err != nil {
		klog.Fatalf("starting the manager: %v", err)
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(
		metrics.NewPrometheusCollector(m, metrics.DefaultContainerLabels, included, clock.RealClock{},
			v2.RequestOptions{IdType: v2.TypeName, Count: 1, Recursive: true}),
		metrics.NewPrometheusMachineCollector(m, included),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	server := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-stop
		klog.Infof("stopping on %v", sig)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(ctx)
	}()

	klog.Infof("cadvisor %s listening on %s", version.Info["version"], *listen)
	if err := server.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		klog.Fatalf("serving: %v", err)
	}
	if err := m.Stop(); err != nil {
		klog.Errorf("stopping the manager: %v", err)
	}
	klog.Flush()
}

// setDefault changes the default of a flag the cadvisor library registered.
func setDefault(name, value string) {
	f := flag.Lookup(name)
	if f == nil {
		panic("no flag " + name)
	}
	if err := f.Value.Set(value); err != nil {
		panic(err)
	}
	f.DefValue = value
}
