/**
 * The world a compat client runs in (test/compat/support/clients.ts): nothing of
 * this machine's AWS set-up, then exactly the app container's variables. IMDS
 * stays off unless the app container points its SDK at one.
 */
export const clientWorld = (home: string, stsUrl: string) => ({
  sts: { url: stsUrl },
  env: (app: Record<string, string> = {}): Record<string, string> => ({
    PATH: "/usr/bin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    AWS_CONFIG_FILE: `${home}/no-config`,
    ...(app.AWS_EC2_METADATA_SERVICE_ENDPOINT ? {} : { AWS_EC2_METADATA_DISABLED: "true" }),
    ...app,
  }),
});
