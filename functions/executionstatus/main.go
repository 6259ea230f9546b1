// Command executionstatus is the executionstatus Lambda function; shared/system builds it.
package main

import "github.com/designerbff/pipeline/shared/system"

func main() { system.Lambda("executionstatus") }
