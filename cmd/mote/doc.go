// Command mote is Mote's one binary. Its subcommands:
//
//	mote serve    run the beacon collector and the admin listener
//	mote migrate  apply the storage schema and exit
//	mote version  print the version
//
// This is the only package that reads flags and the environment: it loads
// the Config (file, then MOTE_* variables, then flags), builds each
// package's own Config from it and wires the concrete types together. An
// invalid configuration exits with status 2 and a message naming the key.
package main
