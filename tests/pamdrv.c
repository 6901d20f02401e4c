/*
 * pamdrv - run one real PAM transaction (libpam's pam_start_confdir with a
 * private service directory) and script the conversation.
 *
 *   pamdrv CONFDIR SERVICE USER [options] [ANSWER...]
 *     --rhost R     set PAM_RHOST          --authtok T  set PAM_AUTHTOK first
 *     --silent      pass PAM_SILENT        --times N    call pam_authenticate N times
 *     --wait-fd FD  after pam_start, block until FD reads EOF (a pipe barrier
 *                   that releases many logins at once, for the race tests)
 *
 * USER "@FILE" takes the user name from FILE's bytes (up to 2 MiB; as a C
 * string it ends at the first NUL): names too long for argv, or with NULs.
 *
 * Each ANSWER is used for one prompt, in order: a literal string, "@FILE"
 * (read the file when the prompt arrives: the mock gateway writes the code
 * it received there), "!fail" (the conversation fails, like ^C), "!null"
 * (success with a NULL reply), "!big" (a 1 MiB reply).  Prints one JSON line
 * per message and per result: {"info": ...}, {"prompt": ...},
 * {"rc": N, "name": "..."}.  Exit status 0 unless usage is wrong.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <security/pam_appl.h>

static char **answers;

/* libpam calls this instead of sleeping when a module asked for a failure
 * delay: the suite stays fast and can still see that a delay was asked. */
static void
no_delay(int retval, unsigned usec_delay, void *appdata)
{
	(void)appdata;
	printf("{\"fail_delay\": %u, \"retval\": %d}\n", usec_delay, retval);
	fflush(stdout);
}

static int nanswers, next_answer;

static void
json_str(const char *k, const char *v)
{
	printf("{\"%s\": \"", k);
	for (const unsigned char *p = (const unsigned char *)v; p && *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	printf("\"}\n");
	fflush(stdout);
}

static char *
read_file(const char *path)
{
	char buf[4096];
	FILE *f = NULL;
	size_t n;

	/* A mock may publish the code a moment after it answered: wait for it. */
	for (int i = 0; i < 500; i++) {
		struct stat sb;
		if (stat(path, &sb) == 0 && sb.st_size > 0 && (f = fopen(path, "r")) != NULL)
			break;
		usleep(10000);
	}
	if (f == NULL)
		return strdup("");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return strdup(buf);
}

static char *
read_user(const char *path)
{
	size_t cap = 2u << 20, n;
	char *buf = calloc(cap + 1, 1);
	FILE *f = fopen(path, "rb");

	if (buf == NULL || f == NULL) {
		free(buf);
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	n = fread(buf, 1, cap, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp, void *arg)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	(void)arg;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		const char *a;
		switch (msg[i]->msg_style) {
		case PAM_TEXT_INFO:
			json_str("info", msg[i]->msg);
			break;
		case PAM_ERROR_MSG:
			json_str("error", msg[i]->msg);
			break;
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			json_str(msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ? "prompt" : "prompt_echo", msg[i]->msg);
			a = next_answer < nanswers ? answers[next_answer++] : "!fail";
			if (strcmp(a, "!fail") == 0) {
				free(r);
				return PAM_CONV_ERR;
			}
			if (strcmp(a, "!null") == 0)
				r[i].resp = NULL;
			else if (strcmp(a, "!big") == 0) {
				r[i].resp = malloc(1 << 20);
				memset(r[i].resp, '1', (1 << 20) - 1);
				r[i].resp[(1 << 20) - 1] = '\0';
			} else if (a[0] == '@')
				r[i].resp = read_file(a + 1);
			else
				r[i].resp = strdup(a);
			break;
		default:
			break;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

int
main(int argc, char **argv)
{
	struct pam_conv pc = { conv, NULL };
	pam_handle_t *pamh = NULL;
	const char *rhost = NULL, *authtok = NULL;
	char *user;
	int flags = 0, times = 1, wait_fd = -1, rc, i;

	if (argc < 4) {
		fprintf(stderr, "usage: pamdrv CONFDIR SERVICE USER [--rhost R] [--authtok T] [--silent] [--times N] [--wait-fd FD] [ANSWER...]\n");
		return 2;
	}
	answers = calloc((size_t)argc, sizeof(char *));
	for (i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--rhost") == 0 && i + 1 < argc)
			rhost = argv[++i];
		else if (strcmp(argv[i], "--authtok") == 0 && i + 1 < argc)
			authtok = argv[++i];
		else if (strcmp(argv[i], "--silent") == 0)
			flags |= PAM_SILENT;
		else if (strcmp(argv[i], "--times") == 0 && i + 1 < argc)
			times = atoi(argv[++i]);
		else if (strcmp(argv[i], "--wait-fd") == 0 && i + 1 < argc)
			wait_fd = atoi(argv[++i]);
		else
			answers[nanswers++] = argv[i];
	}
	user = argv[3][0] == '@' ? read_user(argv[3] + 1) : strdup(argv[3]);
	if (user == NULL) {
		fprintf(stderr, "pamdrv: cannot read %s\n", argv[3]);
		return 2;
	}
	rc = pam_start_confdir(argv[2], user, &pc, argv[1], &pamh);
	if (rc != PAM_SUCCESS) {
		printf("{\"rc\": %d, \"name\": \"start:%s\"}\n", rc, pam_strerror(NULL, rc));
		free(user);
		return 1;
	}
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	if (rhost)
		pam_set_item(pamh, PAM_RHOST, rhost);
	if (authtok)
		pam_set_item(pamh, PAM_AUTHTOK, authtok);
	if (wait_fd >= 0) {
		char b;
		/* Everything is loaded; start when the test closes the pipe. */
		while (read(wait_fd, &b, 1) > 0)
			;
		close(wait_fd);
	}
	for (int t = 0; t < times; t++) {
		const void *tok = NULL;
		/* Arms the failalloc shim, if it is preloaded (a no-op otherwise). */
		if (getenv("OTP_FAILALLOC_AFTER") != NULL)
			setenv("OTP_FAILALLOC_ARM", "1", 1);
		rc = pam_authenticate(pamh, flags);
		printf("{\"rc\": %d, \"name\": \"%s\"}\n", rc, pam_strerror(pamh, rc));
		pam_get_item(pamh, PAM_AUTHTOK, &tok);
		printf("{\"authtok\": \"%s\"}\n", tok == NULL ? "(unset)" :
		       (authtok && strcmp(tok, authtok) == 0) ? "(unchanged)" : "(changed)");
		fflush(stdout);
	}
	pam_end(pamh, rc);
	free(answers);
	free(user);
	return 0;
}
