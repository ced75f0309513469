// Package mote holds the domain types shared by every part of Mote: the
// Event that travels from the beacon endpoint to ClickHouse, its Kind, the
// Site configuration it is checked against and the reasons a hit is
// suppressed.
//
// It imports nothing of the project and only the standard library, so that
// collector, enrich, storage and dashboards can all depend on it without
// depending on each other.
package mote
