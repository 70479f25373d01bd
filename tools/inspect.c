/* inspect — print a sparsetune stream, or convert it to JSON lines, .npy or .safetensors.
 * See man 1 inspect. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"
#include "stream_export.h"
#include "stream_show.h"
#include "util.h"

static void usage(void) {
    printf("Usage: %s [OPTIONS] [FILE|-]\n"
           "Print a sparsetune stream (header, provenance, one line per record) or convert it.\n"
           "With no FILE, or when FILE is -, read standard input.\n"
           "\n"
           "  -j, --json           JSON lines: the header, one object per record, the end marker\n"
           "      --top K          also list the K entries of largest |x| of each tensor\n"
           "                       (and of each sparse delta's values)\n"
           "      --max-elems N    --json: print tensors of up to N elements in full,\n"
           "                       larger ones as summary statistics (default 4096)\n"
           "      --name NAME      only the records named NAME\n"
           "      --to PATH        export the arrays instead of printing: FILE.npy (one array),\n"
           "                       DIR/ (one .npy per array) or FILE.safetensors\n"
           "  -o, --output FILE    write the listing to FILE (atomically) instead of stdout\n"
           "  -h, --help           show this help and exit\n"
           "  -V, --version        show the version and exit\n"
           "\n"
           "Exit status: 0 on success, 1 on bad input (not a stream, truncated, malformed),\n"
           "2 on usage errors.  See man 1 inspect and man 5 sparsetune-stream.\n",
           st_progname);
}

int main(int argc, char **argv) {
    st_set_progname(argv[0]);
    ShowOpts o = {.max_elems = 4096};
    const char *to = NULL, *output = NULL;
    enum { OPT_TO = 256 };
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},       {"top", required_argument, NULL, 't'},
        {"max-elems", required_argument, NULL, 'm'}, {"name", required_argument, NULL, 'n'},
        {"to", required_argument, NULL, OPT_TO}, {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},       {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "jo:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': o.json = 1; break;
        case 't': o.top = (int)parse_long("--top", optarg, 0, 1000000); break;
        case 'm': o.max_elems = parse_long("--max-elems", optarg, 0, (long)1 << 40); break;
        case 'n': o.name = optarg; break;
        case OPT_TO: to = optarg; break;
        case 'o': output = optarg; break;
        case 'h': usage(); return 0;
        case 'V': printf("inspect (sparsetune) %s\n", SPARSETUNE_VERSION); return 0;
        default: die_usage_hint(); /* getopt said what was wrong */
        }
    }
    if (argc - optind > 1) die_usage("expected at most one FILE operand, got %d", argc - optind);
    if (to && (output || o.json || o.top))
        die_usage("--to exports arrays; it cannot be combined with --json, --top or --output");
    const char *path = optind < argc ? argv[optind] : "-";

    StReader *r = st_reader_open(path, NULL);
    StRecord rec;
    if (to) {
        Exporter *e = export_open(to, r);
        while (st_reader_next(r, &rec))
            if (show_selected(&rec, &o)) export_record(e, r, &rec);
        export_finish(e, r);
        st_reader_close(r);
        return 0;
    }
    OutFile *out = out_open(output, 0);
    show_header(out->fp, r, &o);
    while (st_reader_next(r, &rec))
        if (show_selected(&rec, &o)) show_record(out->fp, r, &rec, &o);
    show_end(out->fp, r, &o);
    out_commit(out);
    st_reader_close(r);
    return 0;
}
