package system

var MemoryLimit = memoryLimit
