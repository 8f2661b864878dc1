//go:build !unix

package main

import "time"

// processCPU has no reading here: the result line carries no cpu= word.
func processCPU() (time.Duration, bool) { return 0, false }
