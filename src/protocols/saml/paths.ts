/** Where the SAML identity provider lives below publicUrl; its entityID is `{publicUrl}${SAML_MOUNT}`. */
export const SAML_MOUNT = '/auth/saml';
