long zoo_sum(long n);
double zoo_scale(double x);
