#!/usr/bin/env bash
# Creates the job's topics with the Kafka CLI. Usage: deploy/kafka/create-topics.sh BOOTSTRAP_SERVERS
# (kafka-topics.sh from a Kafka distribution on the PATH; the bootstrap address is yours to give).
set -euo pipefail
bootstrap="${1:?usage: $0 BOOTSTRAP_SERVERS}"
create() { kafka-topics.sh --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$1" --partitions "$2" --replication-factor 3 "${@:3}"; }
# Output topics: max.message.bytes >= the job producers' max.request.size (default 1048576).
create enrichment-requests 12 --config retention.ms=604800000
create enrichment-results 12 --config retention.ms=604800000 --config max.message.bytes=1048576
create enrichment-dead-letters 3 --config retention.ms=2592000000 --config max.message.bytes=1048576
