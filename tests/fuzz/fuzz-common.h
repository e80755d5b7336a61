/* gst-rtmfp fuzz targets: shared helpers.
 *
 * Every target is a libFuzzer entry point (LLVMFuzzerTestOneInput) that is
 * also linked with standalone-main.c into a "-replay" program, so the seed
 * corpus runs as a normal test with any compiler.
 *
 * Conventions:
 * - A failed invariant calls FUZZ_CHECK, which prints and abort()s: that is
 *   what libFuzzer (and the replay test) report as a crash.
 * - GLib criticals and warnings are fatal (a g_return_if_fail reachable
 *   from hostile input is a bug too); debug/info/message output is dropped.
 *   FUZZ_WARNINGS_OK=1 in the environment makes warnings non-fatal.
 * - Multi-step targets split their input into records at the 4-byte
 *   delimiter "FUZZ" (mutation-friendly: inserting or removing bytes in one
 *   record leaves the others intact).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

G_BEGIN_DECLS

int       LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);
int       LLVMFuzzerInitialize (int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                    \
  G_STMT_START {                                                            \
    if (G_UNLIKELY (!(cond))) {                                             \
      fprintf (stderr, "%s:%d: %s: fuzz invariant failed: %s\n", __FILE__,  \
          __LINE__, G_STRFUNC, #cond);                                      \
      abort ();                                                             \
    }                                                                       \
  } G_STMT_END

static inline void
fuzz_log_handler (const gchar * domain, GLogLevelFlags level,
    const gchar * message, gpointer user_data)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL |
          G_LOG_LEVEL_WARNING | G_LOG_FLAG_FATAL))
    fprintf (stderr, "fuzz: %s-%s: %s\n", domain ? domain : "(none)",
        (level & G_LOG_LEVEL_WARNING) ? "WARNING" : "CRITICAL", message);
}

/* Call first thing in LLVMFuzzerInitialize. */
static inline void
fuzz_init (void)
{
  GLogLevelFlags fatal = G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL;

  /* Plain malloc for every GLib allocation, so ASan sees them all */
  setenv ("G_SLICE", "always-malloc", 0);
  if (g_getenv ("FUZZ_WARNINGS_OK") == NULL)
    fatal |= G_LOG_LEVEL_WARNING;
  g_log_set_default_handler (fuzz_log_handler, NULL);
  g_log_set_always_fatal (fatal);
}

/* ---- records split at "FUZZ" ---- */

#define FUZZ_DELIM "FUZZ"
#define FUZZ_DELIM_LEN 4

typedef struct {
  const guint8 *p;
  gsize left;
  gboolean done;
} FuzzSplit;

static inline void
fuzz_split_init (FuzzSplit * s, const guint8 * data, gsize size)
{
  s->p = data;
  s->left = data ? size : 0;
  s->done = FALSE;
}

static inline const guint8 *
fuzz_find_delim (const guint8 * p, gsize len)
{
  gsize i;

  for (i = 0; i + FUZZ_DELIM_LEN <= len; i++)
    if (p[i] == 'F' && memcmp (p + i, FUZZ_DELIM, FUZZ_DELIM_LEN) == 0)
      return p + i;
  return NULL;
}

/* Next record (possibly empty); FALSE after the last one. */
static inline gboolean
fuzz_split_next (FuzzSplit * s, const guint8 ** rec, gsize * len)
{
  const guint8 *d;

  if (s->done)
    return FALSE;
  d = fuzz_find_delim (s->p, s->left);
  *rec = s->p;
  if (d == NULL) {
    *len = s->left;
    s->p += s->left;
    s->left = 0;
    s->done = TRUE;
  } else {
    *len = (gsize) (d - s->p);
    s->left -= *len + FUZZ_DELIM_LEN;
    s->p = d + FUZZ_DELIM_LEN;
  }
  return TRUE;
}

/* A bounded byte consumer for control bytes; returns 0 when exhausted. */
static inline guint8
fuzz_take_u8 (const guint8 ** p, gsize * len)
{
  guint8 v;

  if (*len == 0)
    return 0;
  v = **p;
  (*p)++;
  (*len)--;
  return v;
}

/* A copy in its own exact-size heap block, so ASan catches any read past
 * the end (libFuzzer's own buffer is exact-size too; the record slices of
 * a larger input are not).  Release with free (). */
static inline guint8 *
fuzz_dup (const guint8 * data, gsize len)
{
  /* malloc (0) under ASan is a valid zero-byte block: reading it fails */
  guint8 *p = malloc (len);

  if (p == NULL && len > 0)
    abort ();
  if (len > 0)
    memcpy (p, data, len);
  return p;
}

G_END_DECLS
