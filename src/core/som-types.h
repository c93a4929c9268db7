/* som-types.h: shared typedefs and the error domain of libsomscope
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SOM_ERROR (som_error_quark ())

/* Every error the core reports is in SOM_ERROR; the message always names the
 * file (or the object) and the problem, so a front end can show it as is. */
typedef enum
{
  SOM_ERROR_FAILED,       /* anything else */
  SOM_ERROR_IO,           /* a file could not be read or written */
  SOM_ERROR_CORRUPT,      /* a file is malformed, truncated or inconsistent */
  SOM_ERROR_UNSUPPORTED,  /* valid input that Somscope cannot handle (an operator, a dtype) */
  SOM_ERROR_INVALID,      /* bad arguments: shapes, sizes, ranges, names */
  SOM_ERROR_NONFINITE,    /* NaN or Inf where finite numbers are needed */
  SOM_ERROR_TOO_LARGE,    /* a declared size beyond the file or the memory budget */
  SOM_ERROR_CANCELLED,    /* never used: cancellation reports G_IO_ERROR_CANCELLED */
} SomError;

GQuark       som_error_quark         (void);
const char  *som_version             (void);

/* The largest allocation a parser may make from sizes declared in a file
 * (default 4 GiB; SOMSCOPE_MEMORY_BUDGET in bytes overrides). */
guint64      som_memory_budget       (void);

/* Progress of a long job: fraction in [0,1] (or < 0 when unknown) and a short
 * message.  Called from the worker thread; keep it cheap. */
typedef void (*SomProgressFunc) (double      fraction,
                                 const char *message,
                                 gpointer    user_data);

G_END_DECLS
