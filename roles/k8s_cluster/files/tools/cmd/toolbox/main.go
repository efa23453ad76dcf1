// toolbox: a static HTTP server and client for smoke-testing a cluster from inside pods.
//
//	toolbox serve [-listen :8080] [-data DIR]   GET / (hello + hostname), /healthz, GET/PUT /data/NAME
//	toolbox get URL [-host HOST] [-timeout 3s]  prints the status and body; exit 1 unless 2xx/3xx, 2 if unreachable
//	toolbox lookup NAME                         prints the addresses; exit 1 if it does not resolve
//	toolbox write FILE TEXT | toolbox cat FILE | toolbox id
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: toolbox serve|get|lookup|write|cat|id ...")
	os.Exit(64)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	switch cmd {
	case "serve":
		serve(args)
	case "get":
		os.Exit(get(args))
	case "lookup":
		os.Exit(lookup(args))
	case "write":
		if len(args) != 2 {
			usage()
		}
		must(os.WriteFile(args[0], []byte(args[1]), 0o644))
	case "cat":
		if len(args) != 1 {
			usage()
		}
		data, err := os.ReadFile(args[0])
		must(err)
		os.Stdout.Write(data)
	case "id":
		fmt.Printf("uid=%d gid=%d groups=%v\n", os.Getuid(), os.Getgid(), groups())
	default:
		usage()
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func groups() []int {
	g, _ := os.Getgroups()
	return g
}

func serve(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	listen := fs.String("listen", ":8080", "address to listen on")
	data := fs.String("data", "/data", "directory for GET/PUT /data/NAME")
	must(fs.Parse(args))
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s (host %s)\n", host, r.Host)
	})
	mux.HandleFunc("/data/", func(w http.ResponseWriter, r *http.Request) {
		path := filepath.Join(*data, filepath.Base(r.URL.Path))
		switch r.Method {
		case http.MethodPut:
			body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err == nil {
				err = os.WriteFile(path, body, 0o644)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusCreated)
		default:
			body, err := os.ReadFile(path)
			if err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			w.Write(body)
		}
	})
	server := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	fmt.Printf("serving on %s as uid %d\n", *listen, os.Getuid())
	must(server.ListenAndServe())
}

func get(args []string) int {
	fs := flag.NewFlagSet("get", flag.ExitOnError)
	hostHeader := fs.String("host", "", "Host header")
	timeout := fs.Duration("timeout", 3*time.Second, "whole request timeout")
	// Flags may follow the URL.
	var url string
	rest := args
	for len(rest) > 0 {
		must(fs.Parse(rest))
		rest = fs.Args()
		if len(rest) > 0 {
			url, rest = rest[0], rest[1:]
		}
	}
	if url == "" {
		usage()
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	must(err)
	if *hostHeader != "" {
		req.Host = *hostHeader
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	fmt.Printf("%d\n%s", resp.StatusCode, body)
	if resp.StatusCode >= 400 {
		return 1
	}
	return 0
}

func lookup(args []string) int {
	if len(args) != 1 {
		usage()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(strings.Join(addrs, "\n"))
	return 0
}
