/* rtmfp-server: the --identity file (see rtmfpidentityfile.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-server"

#include "rtmfpidentityfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

/* Identity texts are a few hundred bytes */
#define MAX_FILE_SIZE (64 * 1024)

static gboolean
write_all (gint fd, const gchar * data, gsize len)
{
  while (len > 0) {
    gssize n = write (fd, data, len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
    data += n;
    len -= n;
  }
  return TRUE;
}

/* A new identity written to path (which must not exist): 0600, O_EXCL */
static RtmfpIdentity *
create_identity (const gchar * path, const guint * groups, guint n_groups,
    GError ** error)
{
  RtmfpIdentity *id = rtmfp_identity_new_server_static (groups, n_groups);
  gchar *text;
  gint fd, e;
  gboolean ok;

  if (!id) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
        "no usable Diffie-Hellman group for an identity");
    return NULL;
  }
  fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    e = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e),
        "cannot create %s: %s", path, g_strerror (e));
    rtmfp_identity_unref (id);
    return NULL;
  }
  text = rtmfp_identity_to_text (id);
  ok = write_all (fd, text, strlen (text)) && fsync (fd) == 0;
  e = errno;
  memset (text, 0, strlen (text));
  g_free (text);
  if (close (fd) != 0 && ok) {
    ok = FALSE;
    e = errno;
  }
  if (!ok) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e),
        "cannot write %s: %s", path, g_strerror (e));
    /* no half-written identity left behind to be refused next time */
    g_unlink (path);
    rtmfp_identity_unref (id);
    return NULL;
  }
  return id;
}

RtmfpIdentity *
rtmfp_identity_file_load (const gchar * path, const guint * groups,
    guint n_groups, gboolean * created, gchar ** warning, GError ** error)
{
  GStatBuf st;
  gchar *text = NULL;
  gsize len = 0;
  GError *e = NULL;
  RtmfpIdentity *id;

  g_return_val_if_fail (path != NULL, NULL);

  *created = FALSE;
  *warning = NULL;
  if (g_stat (path, &st) != 0) {
    gint err = errno;

    if (err != ENOENT) {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err),
          "cannot use identity file %s: %s", path, g_strerror (err));
      return NULL;
    }
    id = create_identity (path, groups, n_groups, error);
    *created = id != NULL;
    return id;
  }
  if (!S_ISREG (st.st_mode)) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
        "cannot use identity file %s: not a regular file", path);
    return NULL;
  }
  if (st.st_size > MAX_FILE_SIZE) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
        "cannot use identity file %s: too large to be an identity", path);
    return NULL;
  }
  if (!g_file_get_contents (path, &text, &len, &e)) {
    g_set_error (error, G_FILE_ERROR, e->code,
        "cannot use identity file %s: %s", path, e->message);
    g_error_free (e);
    return NULL;
  }
  id = rtmfp_identity_new_from_text (text, len, &e);
  memset (text, 0, len);
  g_free (text);
  if (!id) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
        "cannot use identity file %s: %s (refusing to start with another "
        "identity: clients pinned this one; restore the file, or move it "
        "away to make a new identity)", path, e->message);
    g_error_free (e);
    return NULL;
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    *warning = g_strdup_printf ("identity file %s is accessible to other "
        "users (mode %04o): its keys let anyone impersonate this server; "
        "chmod 600 %s", path, (guint) (st.st_mode & 07777), path);
  return id;
}
