package main

import (
	"os"
	"testing"

	"github.com/designerbff/pipeline/shared/postgres/postgrestest"
)

func TestMain(m *testing.M) { os.Exit(postgrestest.Main(m)) }
