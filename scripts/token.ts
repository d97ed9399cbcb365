import { loadConfig } from '../config.ts';
import { resolveSecrets } from '../secrets.ts';
import { teacherToken } from '../server/auth.ts';

/** `npm run token -- <teacher-id>`: a teacher JWT for the secret the service uses here. */
const sub = process.argv[2];
if (!sub) {
  console.error('usage: npm run token -- <teacher-id>   (prints a 30-day teacher JWT; --service prints the service token)');
  process.exit(2);
}
const secrets = resolveSecrets(loadConfig());
console.log(sub === '--service' ? secrets.serviceToken : await teacherToken(secrets.jwtSecret, sub));
