/** facteur's version, also the default of mail_version. */
export const VERSION = "0.1.0";
