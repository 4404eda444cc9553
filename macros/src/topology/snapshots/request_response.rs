fn topology() {
    let _ = {
        /// What each process of the topology returned, one field per process.
        #[derive(Debug)]
        #[allow(dead_code)]
        struct __MprocTopologyResults<__P0, __P1> {
            asker: ::core::result::Result<
                __P0,
                ::mproc::__private::topology::ProcessError,
            >,
            answerer: ::core::result::Result<
                __P1,
                ::mproc::__private::topology::ProcessError,
            >,
        }
        #[allow(dead_code)]
        impl<__P0, __P1> __MprocTopologyResults<__P0, __P1> {
            /// The processes that failed, in declaration order (replicas in index order).
            fn failures(
                &self,
            ) -> ::std::vec::Vec<::mproc::__private::topology::Failure<'_>> {
                let mut failures = ::std::vec::Vec::new();
                ::mproc::__private::topology::failures_of(
                    &mut failures,
                    "asker",
                    &self.asker,
                );
                ::mproc::__private::topology::failures_of(
                    &mut failures,
                    "answerer",
                    &self.answerer,
                );
                failures
            }
        }
        ::mproc::__private::topology::Topology::new(|
            __launcher: &mut ::mproc::__private::topology::Launcher|
        {
            let (client, server) = __launcher
                .pipe::<Request, Response>("(client, server)")?;
            let (events, notify) = __launcher.simplex::<Event>("(events, notify)")?;
            let __mproc_process_0 = __launcher
                .single(
                    ::mproc::__private::topology::Member {
                        name: "asker",
                        daemon: false,
                        writes: &[],
                        reads: &[],
                    },
                    |__replica| {
                        <ask>::builder()
                            .name(__replica.name())
                            .daemon(__replica.daemon())
                            .spawn(client, events, 10)
                    },
                )?;
            let __mproc_process_1 = __launcher
                .single(
                    ::mproc::__private::topology::Member {
                        name: "answerer",
                        daemon: false,
                        writes: &[],
                        reads: &[],
                    },
                    |__replica| {
                        <answer>::builder()
                            .name(__replica.name())
                            .daemon(__replica.daemon())
                            .start_method(StartMethod::Fork)
                            .spawn(server, notify)
                    },
                )?;
            ::core::result::Result::Ok(move |
                __finish: &::mproc::__private::topology::Finish|
            __MprocTopologyResults {
                asker: __finish.result(__mproc_process_0),
                answerer: __finish.result(__mproc_process_1),
            })
        })
    };
}
