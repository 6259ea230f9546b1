// Command learner is the learner Lambda function; shared/system builds it.
package main

import "github.com/designerbff/pipeline/shared/system"

func main() { system.Lambda("learner") }
