/** The sync protocol this build speaks (hello). A peer with another one gets an error and nothing changes. */
export const PROTOCOL_VERSION = 3;
