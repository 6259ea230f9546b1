// Package functions holds one main package per Lambda function, each only
// naming its function in shared/system's registry. Its tests run every
// function's handler, as the registry builds it, on the sample events in
// events/, and build a deployed function's setup from the environment.
package functions
