// Package config holds a node's configuration: one struct (Node) with
// every default in one place (Default), filled from the -config file and
// the server flags (Load) and checked before anything is started
// (Validate). The cluster package runs on its part, Cluster, as it is.
package config
