// The cluster's own small commands: the CRI sandbox ("pause") and a toolbox used by smoke
// tests. Standard library only, so they build offline in seconds.
module k8s-cluster.local/tools

go 1.22
