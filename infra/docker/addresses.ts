import type { StackConfig } from '../config';

/**
 * The services of docker-compose.yml besides the databases (named after their servers, as
 * `databaseServers` names them) and the function instances (named as `offlineInstances` names them).
 */
export const COMPOSE_SERVICES = {
  kafka: 'kafka',
  secrets: 'secrets-manager',
  gateway: 'gateway',
  setup: 'setup',
} as const;

/**
 * The broker's listener for the other containers. A Kafka client connects to the address the
 * broker advertises, and the host's 127.0.0.1 (where the local stack's clients find it) is not
 * the containers', so they get a listener of their own, advertised under the service's name.
 */
export const KAFKA_CONTAINER_PORT = 9092;

/**
 * Where the containers of docker-compose.yml reach each other: by service name, on the same
 * ports the local stack uses on 127.0.0.1 (the counterpart of `stackAddresses`).
 */
export function composeAddresses(config: Pick<StackConfig, 'ports'>) {
  return {
    kafkaBootstrap: `${COMPOSE_SERVICES.kafka}:${KAFKA_CONTAINER_PORT}`,
    secretsEndpoint: `http://${COMPOSE_SERVICES.secrets}:${config.ports.secrets}`,
    gatewayUrl: `http://${COMPOSE_SERVICES.gateway}:${config.ports.gateway}`,
  } as const;
}
