/** An MSK cluster's ARN, provisioned or Serverless; its first capture group is the region. */
export const MSK_CLUSTER_ARN = /^arn:aws[\w-]*:kafka:([a-z0-9-]+):\d{12}:cluster\/[^/]+\/[^/]+$/;
