/*
 * registry.c - every connector the build knows, looked up by config id.
 * Each provider family lists its connectors in a registry-*.inc file as
 * OTP_CONNECTOR(symbol) lines.
 */
#include "config.h"
#include <string.h>
#include "connector.h"

#define OTP_CONNECTOR(sym) extern const struct otp_connector sym;
OTP_CONNECTOR(otp_connector_http_sms)
OTP_CONNECTOR(otp_connector_http_email)
OTP_CONNECTOR(otp_connector_sms_gateway)
#include "registry-sms-intl.inc"
#include "registry-sms-cn.inc"
#include "registry-email-smtp.inc"
#include "registry-email-http.inc"
#undef OTP_CONNECTOR

#define OTP_CONNECTOR(sym) &sym,
const struct otp_connector *const otp_connectors[] = {
	OTP_CONNECTOR(otp_connector_http_sms)
	OTP_CONNECTOR(otp_connector_http_email)
	OTP_CONNECTOR(otp_connector_sms_gateway)
#include "registry-sms-intl.inc"
#include "registry-sms-cn.inc"
#include "registry-email-smtp.inc"
#include "registry-email-http.inc"
	NULL,
};
#undef OTP_CONNECTOR

const struct otp_connector *
otp_connector_find(const char *id)
{
	for (int i = 0; id != NULL && otp_connectors[i] != NULL; i++)
		if (strcmp(otp_connectors[i]->id, id) == 0)
			return otp_connectors[i];
	return NULL;
}

const char *
otp_channel_name(enum otp_channel ch)
{
	switch (ch) {
	case OTP_CHANNEL_SMS: return "sms";
	case OTP_CHANNEL_EMAIL: return "email";
	default: return "none";
	}
}
