module periscope.test/inlining

go 1.18
